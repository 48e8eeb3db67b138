/**
 * Which client addresses hold how many signalling sockets, and who gets in when the server is full.
 * A fixed total with a per-address cap lets a few addresses fill the server and lock everyone out
 * (1,000 total / 256 per address: four addresses). Here, when the total is reached, a newcomer from an
 * address holding fewer sockets than the heaviest address takes the place of that address's newest
 * socket (max-min fairness): every address can always get its fair share, however many sockets the
 * others open. Coordinators presenting their pinned token are never refused (admission.ts) and never
 * evicted. Pure: the caller closes what `admit` names. docs/security.md "Signalling".
 */
export interface SocketLimits {
  /** Sockets at once before fairness decides (reserved coordinators exempt). */
  maxTotal: number;
  /** Sockets one address may hold at once. */
  maxPerAddress: number;
}

export type Admit<S> = { ok: true; evict?: S } | { ok: false; reason: 'per-ip' | 'full' };

export class SocketBudget<S> {
  /** Per address, its evictable sockets in arrival order. */
  private readonly byAddress = new Map<string, S[]>();
  private total = 0;

  constructor(private readonly limits: SocketLimits) {}

  /** May `address` open one more socket? `evict`: a socket the caller must close to make room. */
  admit(address: string): Admit<S> {
    const mine = this.byAddress.get(address)?.length ?? 0;
    if (mine >= this.limits.maxPerAddress) return { ok: false, reason: 'per-ip' };
    if (this.total < this.limits.maxTotal) return { ok: true };
    let heaviest: S[] | undefined;
    for (const list of this.byAddress.values()) if (!heaviest || list.length > heaviest.length) heaviest = list;
    // Only an address at least two ahead gives way, so two addresses never trade a socket back and forth.
    if (!heaviest || heaviest.length < mine + 2) return { ok: false, reason: 'full' };
    return { ok: true, evict: heaviest[heaviest.length - 1]! };
  }

  /** `socket` from `address` is open; `exempt` ones (coordinators) are neither counted nor evicted. */
  add(address: string, socket: S, exempt: boolean): void {
    if (exempt) return;
    const list = this.byAddress.get(address) ?? [];
    list.push(socket);
    this.byAddress.set(address, list);
    this.total++;
  }

  remove(address: string, socket: S): void {
    const list = this.byAddress.get(address);
    const i = list?.indexOf(socket) ?? -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    this.total--;
    if (list.length === 0) this.byAddress.delete(address);
  }

  get sockets(): number {
    return this.total;
  }

  get addresses(): number {
    return this.byAddress.size;
  }
}
