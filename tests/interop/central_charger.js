// A charger played by ocpp-rpc (an OCPP 1.6J implementation nobody here wrote, strict
// schema validation both ways) against our Central, following the steps it is given.
//
//   node central_charger.js '<json config>'
//
// config: {endpoint, identity, password, answers: {Method: result}, vars: {name: value},
//          steps: [...]}
// steps, in order:
//   {"call": Method, "params": {...}, "save": name}  a call to Central; "$name.field"
//                                                    in params reads a saved answer (or a var)
//   {"expect": Method, "timeout": ms}                wait for Central's call of Method
//   {"say": text}                                    print {"event": text} at once
//   {"wait": text}                                   wait for a line `text` on stdin
//   {"sleep": ms}
//   {"close": true}
// Central's calls are answered with answers[Method] (or a default) and recorded.
// The last line of stdout is {"result": {connected, error, saved, received, closed}}.
"use strict";
const readline = require("readline");
const { RPCClient } = require("ocpp-rpc");

const DEFAULTS = {
    RemoteStartTransaction: { status: "Accepted" },
    RemoteStopTransaction: { status: "Accepted" },
    ChangeAvailability: { status: "Accepted" },
    Reset: { status: "Accepted" },
    UnlockConnector: { status: "Unlocked" },
    GetConfiguration: { configurationKey: [{ key: "HeartbeatInterval", readonly: false, value: "300" }] },
    ChangeConfiguration: { status: "Accepted" },
    TriggerMessage: { status: "Accepted" },
};

function resolve(value, saved) {
    if (typeof value === "string" && value.startsWith("$")) {
        const [name, ...path] = value.slice(1).split(".");
        return path.reduce((v, key) => v[key], saved[name]);
    }
    if (Array.isArray(value)) return value.map((v) => resolve(v, saved));
    if (value && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, saved)]));
    }
    return value;
}

function client(config) {
    return new RPCClient({
        endpoint: config.endpoint, identity: config.identity, password: config.password,
        protocols: ["ocpp1.6"], strictMode: true, reconnect: false, callTimeoutMs: 10000,
    });
}

function recorder(cli, answers, received) {
    const waiting = [];
    for (const method of Object.keys(DEFAULTS)) {
        cli.handle(method, ({ params }) => {
            received.push({ method, params });
            waiting.splice(0).forEach((wake) => wake());
            return (answers || {})[method] || DEFAULTS[method];
        });
    }
    return async function expect(method, timeout) {
        const deadline = Date.now() + (timeout || 5000);
        for (;;) {
            const found = received.find((r) => r.method === method && !r.taken);
            if (found) { found.taken = true; return found.params; }
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`Central did not call ${method} within ${timeout || 5000} ms`);
            await new Promise((wake) => { waiting.push(wake); setTimeout(wake, left); });
        }
    };
}

async function main() {
    const config = JSON.parse(process.argv[2]);
    const result = { connected: false, error: null, saved: {}, received: [], closed: null };
    const cli = client(config);
    const expect = recorder(cli, config.answers, result.received);
    cli.on("close", ({ code, reason }) => { result.closed = { code, reason: String(reason) }; });
    const lines = readline.createInterface({ input: process.stdin });
    const told = [];
    const listeners = [];
    lines.on("line", (line) => { told.push(line.trim()); listeners.splice(0).forEach((f) => f()); });
    try {
        await cli.connect();
        result.connected = true;
        for (const step of config.steps || []) {
            if (step.call) {
                const answer = await cli.call(step.call, resolve(step.params || {},
                                                            { ...config.vars, ...result.saved }));
                if (step.save) result.saved[step.save] = answer;
            } else if (step.expect) {
                const params = await expect(step.expect, step.timeout);
                if (step.save) result.saved[step.save] = params;
            } else if (step.say) {
                process.stdout.write(JSON.stringify({ event: step.say }) + "\n");
            } else if (step.wait) {
                while (!told.includes(step.wait)) await new Promise((f) => listeners.push(f));
            } else if (step.sleep) {
                await new Promise((f) => setTimeout(f, step.sleep));
            } else if (step.close) {
                await cli.close({ code: 1000 });
            }
        }
    } catch (error) {
        result.error = `${error.name}: ${error.message}`;
    }
    result.received = result.received.map(({ method, params }) => ({ method, params }));
    if (cli.state !== 3) await cli.close({ code: 1000, awaitPending: false }).catch(() => {});
    lines.close();
    process.stdout.write(JSON.stringify({ result }) + "\n");
}

main().then(() => process.exit(0), (error) => {
    process.stdout.write(JSON.stringify({ result: { error: String(error) } }) + "\n");
    process.exit(1);
});
