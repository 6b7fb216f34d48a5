// An OCPP 1.6J central system built on ocpp-rpc (strict schema validation both ways), for
// the interop tests of our Pi charge point (ev-cp-m --ocpp): tests/interop/test_cp_*.py.
//
//   node cp_central.js --port P --state FILE [--password PW] [--interval S]
//
// Every call the charge point makes, and every strict-validation failure, is one JSON line
// on stdout ({"event": "call", "method", "params", "at"}, {"event": "invalid", ...}), so
// the test sees what this side received.  The test makes calls to the charge point with
// JSON lines on stdin ({"ref", "method", "params"}), answered on stdout ({"event":
// "result"|"error", "ref", ...}).  Transaction ids live in --state, so a restart of this
// process (a server restart) keeps them and gives a repeated StartTransaction its id.
'use strict';

const fs = require('fs');
const readline = require('readline');
const { RPCServer } = require('ocpp-rpc');

function flag(name, fallback) {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
}

const port = Number(flag('port'));
const stateFile = flag('state');
const password = flag('password', null);
const interval = Number(flag('interval', '60'));

function load() {
    try {
        return JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    } catch (e) {
        return { next: 1, transactions: {} };
    }
}
const state = load();
function save() {
    fs.writeFileSync(stateFile, JSON.stringify(state));
}

function say(line) {
    process.stdout.write(JSON.stringify({ ...line, at: new Date().toISOString() }) + '\n');
}

const server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true });
let current = null;

server.auth((accept, reject, handshake) => {
    if (password !== null) {
        const given = handshake.password ? handshake.password.toString('utf8') : undefined;
        if (given !== password) {
            say({ event: 'refused', identity: handshake.identity });
            reject(401, 'wrong credentials');
            return;
        }
    }
    accept({ identity: handshake.identity });
});

server.on('client', (client) => {
    current = client;
    say({ event: 'connected', identity: client.identity, protocol: client.protocol });
    client.on('strictValidationFailure', ({ messageId, method, params, result, error, outbound }) => {
        say({ event: 'invalid', method, outbound, params, result, error: String(error) });
    });
    client.on('badMessage', ({ error }) => say({ event: 'invalid', error: String(error) }));
    client.on('close', () => {
        if (current === client) current = null;
        say({ event: 'disconnected', identity: client.identity });
    });
    const record = (method, params) => say({ event: 'call', method, params });
    client.handle('BootNotification', ({ params }) => {
        record('BootNotification', params);
        return { status: 'Accepted', interval, currentTime: new Date().toISOString() };
    });
    client.handle('Heartbeat', ({ params }) => {
        record('Heartbeat', params);
        return { currentTime: new Date().toISOString() };
    });
    client.handle('StatusNotification', ({ params }) => {
        record('StatusNotification', params);
        return {};
    });
    client.handle('Authorize', ({ params }) => {
        record('Authorize', params);
        return { idTagInfo: { status: 'Accepted' } };
    });
    client.handle('StartTransaction', ({ params }) => {
        record('StartTransaction', params);
        const key = `${params.idTag}|${params.timestamp}`;
        if (!(key in state.transactions)) {
            state.transactions[key] = state.next++;
            save();
        }
        return { transactionId: state.transactions[key], idTagInfo: { status: 'Accepted' } };
    });
    client.handle('MeterValues', ({ params }) => {
        record('MeterValues', params);
        return {};
    });
    client.handle('StopTransaction', ({ params }) => {
        record('StopTransaction', params);
        return {};
    });
});

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
    const { ref, method, params } = JSON.parse(line);
    if (current === null) {
        say({ event: 'error', ref, error: 'no charge point connected' });
        return;
    }
    try {
        say({ event: 'result', ref, result: await current.call(method, params) });
    } catch (error) {
        say({ event: 'error', ref, error: String(error) });
    }
});

server.listen(port, '127.0.0.1').then(() => say({ event: 'listening', port }));
process.on('SIGTERM', async () => {
    await server.close({ force: true });
    process.exit(0);
});
