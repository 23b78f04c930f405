#!/usr/bin/env node
// Validate task files against the schema Claude Code reads them with (see
// shared/task-format.md), expressed in zod. A file that fails it is one Claude
// treats as absent. Also checks taskrun's own metadata.taskrun block, and that the
// file is exactly what JSON.stringify(task, null, 2) writes, as Claude does.
//
//   node validate.js FILE...   prints one line per problem; exit 0 if all pass, 1 if not
'use strict';

const fs = require('fs');
const { z } = require('zod');

// Claude's task: not strict (unknown keys are dropped on its next write).
const ClaudeTask = z.object({
  id: z.string(),
  subject: z.string(),
  description: z.string(),
  activeForm: z.string().optional(),
  owner: z.string().optional(),
  status: z.enum(['pending', 'in_progress', 'completed']),
  blocks: z.array(z.string()),
  blockedBy: z.array(z.string()),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

const iso = z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

// What taskrun keeps under metadata.taskrun; extra keys are allowed.
const TaskrunBlock = z.looseObject({
  state: z.enum(['running', 'completed', 'failed', 'timed_out', 'killed', 'lost']),
  argv: z.array(z.string()).optional(),
  cwd: z.string().optional(),
  pid: z.number().int().positive().nullable().optional(),
  host: z.string().optional(),
  boot_id: z.string().optional(),
  start_time_ticks: z.number().int().nonnegative().nullable().optional(),
  started_at: iso.optional(),
  ended_at: iso.optional(),
  heartbeat_at: iso.optional(),
  duration_ms: z.number().int().nonnegative().optional(),
  exit_code: z.number().int().nullable().optional(),
  signal: z.union([z.number().int(), z.string()]).nullable().optional(),
  timed_out: z.boolean().optional(),
  output_tail: z.string().optional(),
  output_bytes: z.number().int().nonnegative().optional(),
  last_line: z.string().optional(),
});

function problems(file) {
  const out = [];
  let text;
  let task;
  try {
    text = fs.readFileSync(file, 'utf8');
    task = JSON.parse(text);
  } catch (err) {
    return [`not JSON: ${err.message}`];
  }
  const claude = ClaudeTask.safeParse(task);
  if (!claude.success) {
    for (const issue of claude.error.issues)
      out.push(`Claude schema: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  const block = task && task.metadata && task.metadata.taskrun;
  if (block !== undefined) {
    const r = TaskrunBlock.safeParse(block);
    if (!r.success) {
      for (const issue of r.error.issues)
        out.push(`metadata.taskrun: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
    }
    if (block && typeof block === 'object' && block.state === 'failed' && task.status === 'completed')
      out.push('a failed run is marked completed');
  }
  const again = JSON.stringify(task, null, 2);
  if (again !== text) {
    let i = 0;
    while (i < text.length && text[i] === again[i]) i++;
    out.push(`not as JSON.stringify(task, null, 2) writes it: differs at offset ${i}: ` +
      `${JSON.stringify(text.slice(i, i + 30))} vs ${JSON.stringify(again.slice(i, i + 30))}`);
  }
  return out;
}

let failed = 0;
const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: validate.js FILE...\n');
  process.exit(2);
}
for (const file of files) {
  const p = problems(file);
  if (p.length) failed++;
  for (const line of p) console.log(`${file}: ${line}`);
}
console.log(`validate: ${files.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
