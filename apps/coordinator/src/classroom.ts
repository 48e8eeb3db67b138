/**
 * Classroom mode: the room code and a QR code of the join URL, one tile per learner, and the switch
 * between the full dashboard and the projector view (`?view=class` opens in it). The room code is
 * core's roomCode of the run id; the learner page shows the same code, so a student can check the room.
 */
import { roomCode } from '@tabswarm/core';
import QRCode from 'qrcode';
import type { CoordinatorStatus } from './status';

/** QR geometry the specs read back: 2 modules of quiet zone, 5 image pixels per module. */
export const QR = { margin: 2, scale: 5, errorCorrectionLevel: 'M' } as const;

/**
 * The QR code is a PNG in an <img>, not drawn on a canvas: Chromium may discard a canvas's pixels under
 * load (a blank QR code on a busy projector page was seen in `npm run screenshots`); an image stays.
 */
export async function showRoom(runId: string, join: URL, el: { code: HTMLElement; link: HTMLAnchorElement; qr: HTMLImageElement }): Promise<void> {
  el.code.textContent = roomCode(runId);
  el.link.textContent = join.href;
  el.link.href = join.href;
  el.qr.src = await QRCode.toDataURL(join.href, QR);
}

/** The body's `classroom` class hides the dashboard's detail and shows the projector view. */
export function viewSwitch(button: HTMLElement, startInClassroom: boolean): void {
  const set = (on: boolean): void => {
    document.body.classList.toggle('classroom', on);
    button.textContent = on ? 'Dashboard view' : 'Classroom view';
  };
  set(startInClassroom);
  button.addEventListener('click', () => set(!document.body.classList.contains('classroom')));
}

/** One tile per learner: id, backend, steps/s, share of the learners' merged tokens, alive or gone. */
export function renderTiles(root: HTMLElement, learners: CoordinatorStatus['learners']): void {
  if (learners.length === 0) return;
  const total = learners.reduce((n, l) => n + l.tokens, 0);
  root.replaceChildren(...learners.map((l) => {
    const share = total > 0 ? l.tokens / total : 0;
    const tile = document.createElement('div');
    tile.className = `tile ${l.connected ? 'alive' : 'gone'}`;
    tile.dataset.learner = l.id;
    tile.dataset.share = String(share);
    const line = (cls: string, text: string): HTMLElement => Object.assign(document.createElement('span'), { className: cls, textContent: text });
    tile.append(
      line('id', l.id),
      line('backend', l.backend),
      line('rate', l.stepMs ? `${(1000 / l.stepMs).toFixed(1)} steps/s` : '– steps/s'),
      line('share', ' of merged tokens'),
      line('alive', l.connected ? 'alive' : 'gone'),
    );
    tile.querySelector('.share')!.prepend(Object.assign(document.createElement('b'), { textContent: `${(100 * share).toFixed(1)}%` }));
    tile.style.setProperty('--share', share.toFixed(3));
    return tile;
  }));
}
