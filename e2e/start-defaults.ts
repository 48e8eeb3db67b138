/**
 * What `npm start` opens unless told otherwise: the text workload at the preset a first-time user's
 * machine trains visibly, a 2-core CPU laptop without a GPU (README: its held-out loss falls by more than
 * 20% within 60 s of the click there, `npm run bench:start`). GPU learners take `--model default` or `large`.
 */
export const START_DEFAULTS = { workload: 'text', model: 'tiny' } as const;
