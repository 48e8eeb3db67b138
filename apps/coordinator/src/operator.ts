/**
 * The operator secret (`npm start` prints it once as `#op=…` on the coordinator URL): the signalling
 * token that alone may register coordinator ids (docs/security.md "Operator secret"). The fragment
 * never reaches a server; the page keeps the secret in localStorage, so a reload still presents it, and
 * removes it from the address bar so it is not copied along with the URL.
 */
const KEY = 'tabswarm.operator-secret';
const SECRET = /^[0-9a-f]{32}$/;

/** The operator secret from this URL's fragment or from an earlier visit; undefined without one. */
export function takeOperatorSecret(): string | undefined {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get('op');
  if (given !== null) {
    if (!SECRET.test(given)) throw new Error('the #op= operator secret must be the 32 hex digits of .tabswarm/operator-secret');
    fragment.delete('op');
    const rest = fragment.toString();
    history.replaceState(null, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
    try {
      localStorage.setItem(KEY, given);
    } catch {
      // storage disabled: this page still uses it; a reload needs the fragment again
    }
    return given;
  }
  try {
    const kept = localStorage.getItem(KEY);
    return kept && SECRET.test(kept) ? kept : undefined;
  } catch {
    return undefined;
  }
}
