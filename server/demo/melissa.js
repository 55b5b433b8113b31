// The Melissa browser flow, as the vendor's sample page does it: ask the page's own server for a
// token, then call the service with the token where the licence would otherwise go (`id`).
// This file is served as-is (no build step) under a Content-Security-Policy that only allows
// scripts and requests to this origin; it never sees the licence.
'use strict';

const demo = document.getElementById('demo');
const button = document.getElementById('run');
const status = document.getElementById('status');
const tokenOut = document.getElementById('token');
const result = document.getElementById('result');

function show(outcome, message) {
  demo.dataset.outcome = outcome;
  status.textContent = message;
}

async function getToken() {
  const res = await fetch(demo.dataset.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ function: 'gettoken' }),
    cache: 'no-store',
  });
  const data = await res.json();
  const first = Array.isArray(data) ? data[0] : undefined;
  if (!first || typeof first.token !== 'string' || first.token === '') {
    throw new Error(`no token (HTTP ${res.status}${first && first.error ? `, ${first.error}` : ''})`);
  }
  return first.token;
}

async function callService(token) {
  const url = `${demo.dataset.serviceUrl}?${new URLSearchParams({ id: token })}`;
  const res = await fetch(url, { cache: 'no-store' });
  return res.json();
}

async function run() {
  button.disabled = true;
  result.textContent = '';
  tokenOut.textContent = 'none yet';
  show('busy', 'Asking this server for a token…');
  try {
    const token = await getToken();
    tokenOut.textContent = token;
    show('busy', 'Calling the service with the token…');
    const reply = await callService(token);
    result.textContent = JSON.stringify(reply, null, 2);
    if (reply && reply.ok === true) show('ok', 'The service accepted the token.');
    else show('refused', `The service refused the token${reply && reply.ResultCode ? ` (${reply.ResultCode})` : ''}.`);
  } catch (err) {
    show('error', `Failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    button.disabled = false;
  }
}

button.addEventListener('click', run);
