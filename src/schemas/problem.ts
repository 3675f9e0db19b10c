import { z } from 'zod';
import { ERRORS, PROBLEM_CONTENT_TYPE, type ErrorCode } from '../errors.js';

const codes = Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]];

export const ProblemSchema = z
  .object({
    type: z.string().describe('URI of the problem type.'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().describe('What went wrong with this request, for a human.'),
    code: z.enum(codes).describe('Stable machine-readable code from the error catalogue.'),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('Validation errors: where in the request and what is wrong.'),
    suggestions: z.array(z.string()).optional().describe('Closest known names, for an unknown activation.'),
  })
  .meta({
    id: 'Problem',
    description: 'An RFC 9457 problem; served as application/problem+json.',
    example: {
      type: 'https://activation-service.dev/problems/validation',
      title: 'Invalid request',
      status: 400,
      detail: 'The request body is invalid: 1 problem.',
      code: 'ACT_ERR_VALIDATION',
      errors: [{ path: '/inputs/1', message: 'ragged batch: row 1 has 2 numbers, row 0 has 3' }],
    },
  });

/** The problem responses a route may give, documented as application/problem+json. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: Object.values(ERRORS)
          .filter((e) => e.status === status)
          .map((e) => e.title)
          .join('; '),
        content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
      },
    ]),
  );
}
