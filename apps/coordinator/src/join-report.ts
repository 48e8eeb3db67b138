/**
 * Tells the page server this page came from the join URL, so that `npm start` prints it in its terminal
 * (packages/testing join-report.ts): the run key is made here, in the page, and nothing else knows the
 * fingerprint the join URL pins. Only a page holding the operator secret reports (the server believes
 * nothing else). Another static server without the endpoint answers 404 and nothing else changes: the
 * join URL is on this page either way. One try, within `timeoutMs`.
 */
export async function reportJoinUrl(joinUrl: string, operatorSecret: string, timeoutMs = 5000): Promise<string> {
  try {
    const r = await fetch(new URL('../tabswarm/join-url', location.href), {
      method: 'POST', body: joinUrl, headers: { 'content-type': 'text/plain', 'x-tabswarm-operator': operatorSecret }, signal: AbortSignal.timeout(timeoutMs),
    });
    return r.ok ? 'reported to the page server (npm start prints it)' : `not reported: the page server answered ${r.status} ${(await r.text()).trim()}`;
  } catch (e) {
    return `not reported: ${e instanceof Error ? e.message : String(e)}`;
  }
}
