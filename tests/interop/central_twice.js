// Two ocpp-rpc chargers with the same identity against our Central: the first connects
// and boots, then the second; prints what happened to each (who was closed, with which
// code) and whether the second can still talk.
//
//   node central_twice.js '<json config: {endpoint, identity, password}>'
"use strict";
const { RPCClient } = require("ocpp-rpc");

function charger(config, closes, name) {
    const cli = new RPCClient({
        endpoint: config.endpoint, identity: config.identity, password: config.password,
        protocols: ["ocpp1.6"], strictMode: true, reconnect: false, callTimeoutMs: 10000,
    });
    cli.on("close", ({ code }) => { closes[name] = code; });
    return cli;
}

const boot = { chargePointVendor: "interop", chargePointModel: "ocpp-rpc" };

async function main() {
    const config = JSON.parse(process.argv[2]);
    const closes = {};
    const first = charger(config, closes, "first");
    await first.connect();
    await first.call("BootNotification", boot);
    const second = charger(config, closes, "second");
    await second.connect();
    const booted = await second.call("BootNotification", boot);
    const deadline = Date.now() + 5000;
    while (closes.first === undefined && Date.now() < deadline) {
        await new Promise((f) => setTimeout(f, 20));
    }
    await second.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Available" });
    const result = { firstClosed: closes.first ?? null, secondOpen: closes.second === undefined,
                     secondBooted: booted.status };
    await second.close({ code: 1000 });
    process.stdout.write(JSON.stringify({ result }) + "\n");
}

main().then(() => process.exit(0), (error) => {
    process.stdout.write(JSON.stringify({ result: { error: String(error) } }) + "\n");
    process.exit(1);
});
