/**
 * The real worker, with two faults a test can trigger through an ordinary
 * request: a first input of 7777 makes the thread exit for real, 8888 makes
 * the task sleep for (second input) milliseconds first.
 */
import { backward as realBackward, forward as realForward } from '../../src/workers/kernels.worker.js';
import type { WorkerBackwardTask, WorkerForwardTask } from '../../src/workers/kernels.worker.js';

export const CRASH = 7777;
export const SLEEP = 8888;

async function misbehave(x: Float64Array): Promise<void> {
  if (x[0] === CRASH) process.exit(1);
  if (x[0] === SLEEP) await new Promise((resolve) => setTimeout(resolve, x[1]));
}

export async function forward(task: WorkerForwardTask) {
  await misbehave(task.x);
  return realForward(task);
}

export async function backward(task: WorkerBackwardTask) {
  await misbehave(task.x);
  return realBackward(task);
}
