/**
 * The fault run: notifications from several tenants through the gateway over HTTP while the
 * provider simulators inject faults (5xx, 429 + Retry-After, GOAWAY, stream resets) and restart
 * once; in cluster mode one of two gateway processes is SIGKILLed midway and started again. Prints
 * per notification and device: delivered, expired, sent after the deadline, duplicated, lost.
 *
 *   npm run fault-run -w @pushrelay/bench -- [--mode embedded|cluster] [--notifications 100000] [--tenants 4] [--users 250] [--parallel 64]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_OPTIONS, runFaultScenario, type FaultRunOptions } from './fault-scenario.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: DEFAULT_OPTIONS.mode },
    notifications: { type: 'string', default: String(DEFAULT_OPTIONS.notifications) },
    tenants: { type: 'string', default: String(DEFAULT_OPTIONS.tenants) },
    /** Users (one device each) per tenant. */
    users: { type: 'string', default: String(DEFAULT_OPTIONS.usersPerTenant) },
    parallel: { type: 'string', default: String(DEFAULT_OPTIONS.parallel) },
    'deadline-ms': { type: 'string', default: String(DEFAULT_OPTIONS.deadlineMs) },
    'short-every': { type: 'string', default: String(DEFAULT_OPTIONS.shortEvery) },
    'short-deadline-ms': { type: 'string', default: String(DEFAULT_OPTIONS.shortDeadlineMs) },
    'simulator-down-ms': { type: 'string', default: String(DEFAULT_OPTIONS.simulatorDownMs) },
    'no-faults': { type: 'boolean', default: false },
  },
});
if (values.mode !== 'embedded' && values.mode !== 'cluster') throw new Error('--mode is embedded or cluster');
const options: FaultRunOptions = {
  ...DEFAULT_OPTIONS,
  mode: values.mode,
  notifications: Number(values.notifications),
  tenants: Number(values.tenants),
  usersPerTenant: Number(values.users),
  parallel: Number(values.parallel),
  deadlineMs: Number(values['deadline-ms']),
  shortEvery: Number(values['short-every']),
  shortDeadlineMs: Number(values['short-deadline-ms']),
  simulatorDownMs: Number(values['simulator-down-ms']),
  ...(values['no-faults']
    ? {
        faults: {
          serverErrorShare: 0,
          tooManyRequestsShare: 0,
          retryAfterSeconds: 0,
          goawayEvery: 0,
          streamResetShare: 0,
        },
        simulatorRestartAt: 0,
        killAt: 0,
      }
    : {}),
  log: (line) => console.error(line),
};
const result = await runFaultScenario(options);
const c = result.counts;
const command = `npm run fault-run -w @pushrelay/bench -- ${process.argv.slice(2).join(' ')}`.trim();
const rows: [string, number | string][] = [
  ['accepted (202)', c.accepted],
  ['delivered', c.delivered],
  [
    'expired, never sent',
    `${c.expired} (${c.expiredPastDeadline} at the deadline, ${c.expiredRetriesUsedUp} retries used up)`,
  ],
  ['still pending', c.pending],
  ['lost', c.lost],
  ['sent after the deadline', c.sentAfterDeadline],
  ['sent before the deadline, received after it', c.arrivedAfterDeadline],
  [
    'duplicated per device',
    `${c.duplicatedPairs} (${c.duplicatedBySigkill} made unavoidable by the SIGKILL), ${c.extraCopies} extra copies`,
  ],
  ['received, report not delivered', c.reportNotDelivered],
  ['received, not accepted for that device', c.unexpected],
  ['requests refused / sent again', `${c.refused} / ${c.resent}`],
  [
    'provider requests / faults injected',
    `${result.providerRequests} / ${Object.entries(result.faultsInjected)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}`,
  ],
  ['accepted/s, delivered/s', `${result.acceptedPerSecond}, ${result.deliveredPerSecond}`],
  [
    'seconds accepting / until all final',
    `${result.seconds.accepting.toFixed(1)} / ${result.seconds.total.toFixed(1)}`,
  ],
];
console.log(`\nfault run, ${result.options.mode} mode (${command}), Node ${process.version}\n`);
console.log('| per notification and device | count |');
console.log('|---|---|');
for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);
console.log(
  `\nconsistent (delivered + expired + pending + lost == accepted): ${c.delivered + c.expired + c.pending + c.lost === c.accepted}`,
);
console.log(JSON.stringify({ command, node: process.version, ...result }));
