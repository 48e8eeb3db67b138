import { describe, expect, it } from 'vitest';
import { checkJoinReport } from './join-report';

const SECRET = '0123456789abcdef0123456789abcdef';
const FP = 'A'.repeat(20) + '_-' + 'b9'.repeat(10) + 'z'; // 43 base64url characters
const JOIN = `http://192.168.1.20:5173/learner/?run=demo&workload=text&model=tiny#coord=${FP}`;

describe('checkJoinReport', () => {
  it('accepts a pinned learner URL from the holder of the operator secret', () => {
    expect(checkJoinReport('POST', SECRET, JOIN, SECRET)).toEqual({ ok: true, url: JOIN, runId: 'demo' });
    expect(checkJoinReport('POST', SECRET, JOIN.replace('http:', 'https:'), SECRET)).toMatchObject({ ok: true, runId: 'demo' });
  });

  it('refuses anyone else, and anything that is not a pinned join URL, with the HTTP status and why', () => {
    expect(checkJoinReport('GET', SECRET, '', SECRET)).toMatchObject({ ok: false, status: 405 });
    expect(checkJoinReport('POST', undefined, JOIN, SECRET)).toEqual({ ok: false, status: 403, why: 'the operator secret is missing or wrong' });
    expect(checkJoinReport('POST', SECRET.replace('0', '1'), JOIN, SECRET)).toMatchObject({ ok: false, status: 403 });
    expect(checkJoinReport('POST', SECRET.slice(1), JOIN, SECRET)).toMatchObject({ ok: false, status: 403 }); // another length
    expect(checkJoinReport('POST', SECRET, 'not a url', SECRET)).toEqual({ ok: false, status: 400, why: 'the body is not a URL' });
    expect(checkJoinReport('POST', SECRET, JOIN.replace('http:', 'javascript:'), SECRET)).toMatchObject({ ok: false, status: 400, why: 'javascript: is not http or https' });
    expect(checkJoinReport('POST', SECRET, JOIN.replace('/learner/', '/coordinator/'), SECRET)).toMatchObject({ ok: false, status: 400, why: '/coordinator/ is not the learner page' });
    expect(checkJoinReport('POST', SECRET, JOIN.replace(`#coord=${FP}`, ''), SECRET)).toMatchObject({ ok: false, status: 400, why: expect.stringMatching(/pins no run key/) });
    expect(checkJoinReport('POST', SECRET, JOIN.replace(FP, FP.slice(1)), SECRET)).toMatchObject({ ok: false, status: 400 }); // 42 characters
    expect(checkJoinReport('POST', SECRET, JOIN.replace('run=demo&', ''), SECRET)).toMatchObject({ ok: false, status: 400, why: 'the URL names no run' });
  });
});
