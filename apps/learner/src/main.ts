import { roomCode } from '@tabswarm/core';
import { readConfig, type LearnerConfig } from './config';
import { rawLink, type RawLink } from './raw-link';
import { LearnerSession } from './session';
import type { LearnerStatus } from './status';

const $ = (id: string): HTMLElement => document.getElementById(id)!;
let cfg: LearnerConfig;
try {
  cfg = readConfig();
} catch (e) {
  // A join URL cut short or edited (a #coord= of 42 characters, a bad parameter): said where the volunteer
  // looks; the console alone left a Start button that did nothing.
  $('consent').hidden = true;
  $('status').hidden = false;
  $('s-state').textContent = 'failed';
  $('s-error').textContent = `this join URL cannot be used: ${e instanceof Error ? e.message : String(e)}`;
  throw e;
}
const fmt = (x: number | undefined, d = 3): string => (x === undefined ? '–' : x.toFixed(d));

const PINNED_BY: Record<LearnerStatus['pinnedBy'], string> = {
  'join URL': 'the join URL',
  'earlier load': 'an earlier load of this tab: the join URL carried no #coord=',
  'first use': 'first use: the join URL carried no #coord=',
};

function render(s: LearnerStatus): void {
  $('s-state').textContent = s.state;
  $('s-link').textContent = s.link || '–';
  $('s-model').textContent = s.model;
  const allowed = cfg.backends ? `; backends=${cfg.backends.join(',')} allows only these` : '';
  $('s-backend').textContent = `${s.backendSource ? `${s.backend} (${s.backendSource})` : s.backend}${allowed}`;
  $('s-calibration').textContent = s.calibration || (s.backendSource === 'first' ? 'after the first merged update' : '–');
  $('s-why').textContent = s.why;
  $('s-rate').textContent = s.stepsPerSec.toFixed(2);
  $('s-steps').textContent = String(s.steps);
  $('s-tokens').textContent = s.tokens.toLocaleString('en');
  $('s-merges').textContent = `${s.merges} (${s.rejected} refused)`;
  $('s-global').textContent = s.globalLoss === undefined ? `step ${s.globalStep}` : `${fmt(s.globalLoss)} at step ${s.globalStep}`;
  $('s-loss').textContent = fmt(s.loss);
  const refused = Object.entries(s.identityRefusals).map(([k, v]) => `${k}: ${v}`).join(', ');
  $('s-coordinator').textContent = `${s.coordinator || 'not seen yet'} (pinned by ${PINNED_BY[s.pinnedBy]})${refused ? `; frames refused: ${refused}` : ''}`;
  $('s-share').textContent = s.share === null ? '–' : `${(100 * s.share).toFixed(1)}% of the merged tokens (${s.yourTokens.toLocaleString('en', { maximumFractionDigits: 0 })} of ${s.learnerTokens.toLocaleString('en', { maximumFractionDigits: 0 })})`;
  $('s-error').textContent = s.error;
  $('pause').textContent = s.state === 'paused' ? 'Resume' : 'Pause';
}

const session = new LearnerSession(cfg, () => render(session.status));
$('s-room').textContent = roomCode(cfg.runId); // the code the coordinator's page shows for this run
if (cfg.byzantine !== undefined) {
  $('s-byzantine').hidden = false;
  $('s-byzantine').textContent = `Hostile tab (byzantine=${cfg.byzantine}, a classroom demo): it trains honestly, then pushes its update sign-flipped × ${cfg.byzantine} and claims the most tokens a push may.`;
}
// Playwright and curious visitors read the live status here.
(window as unknown as { __tabswarm: LearnerStatus }).__tabswarm = session.status;
(window as unknown as { __tabswarmRawLink: (id: string) => RawLink }).__tabswarmRawLink = (id) => rawLink(cfg, id);
(window as unknown as { __tabswarmFault: (k: 'crash' | 'hang' | 'device-loss') => void }).__tabswarmFault = (k) => session.injectFault(k);

function start(): void {
  $('consent').hidden = true;
  $('status').hidden = false;
  void session.start();
}
$('start').addEventListener('click', start);
$('pause').addEventListener('click', () => session.pause(session.status.state !== 'paused'));
if (cfg.autostart) start();
