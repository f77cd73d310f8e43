// A club system in another language, subscribing to the club's events as docs/events.md
// tells it to: SASL/SCRAM with its own read-only principal and consumer group, every event
// validated against its published JSON Schema by a standard validator in strict mode, and
// effects once per `ce_id` (delivery is at least once).
//
// It uses nothing of the club's code: the schemas directory and these settings only.
//   CLUB_KAFKA_BROKERS      host:port of the SASL listener
//   CLUB_KAFKA_USERNAME     the principal `club kafka-access grant` created
//   CLUB_KAFKA_PASSWORD
//   CLUB_KAFKA_GROUP        its consumer group
//   CLUB_TOPICS             comma-separated topics it was granted
//   CLUB_SCHEMAS            the directory of the published schemas (*.json)
//   CLUB_START_OFFSETS      optional JSON {topic: {partition: offset}}: where the day began
// It reads each topic to the end it had when it started, then prints one JSON report.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { Kafka, logLevel } from "kafkajs";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
};

// docs/events.md, "Validating": Draft 2020-12, formats checked, and the four `x-`
// annotation keywords declared so a strict validator accepts them.
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
ajv.addVocabulary(["x-topic", "x-ce-type", "x-key", "x-producer"]);

const schemas = new Map(); // ce_type → {validate, topic, key}
for (const file of readdirSync(env("CLUB_SCHEMAS")).filter((f) => f.endsWith(".json")).sort()) {
  const schema = JSON.parse(readFileSync(join(env("CLUB_SCHEMAS"), file), "utf8"));
  if (!schema.$id.endsWith("/" + file)) throw new Error(`${file}: $id ${schema.$id} names another file`);
  ajv.addSchema(schema);
  schemas.set(schema["x-ce-type"], { id: schema.$id, topic: schema["x-topic"], key: schema["x-key"] });
}
for (const entry of schemas.values()) entry.validate = ajv.getSchema(entry.id);

const topics = env("CLUB_TOPICS").split(",").filter(Boolean);
const start = JSON.parse(process.env.CLUB_START_OFFSETS || "{}");
const kafka = new Kafka({
  clientId: env("CLUB_KAFKA_USERNAME"),
  brokers: env("CLUB_KAFKA_BROKERS").split(","),
  sasl: { mechanism: "scram-sha-512", username: env("CLUB_KAFKA_USERNAME"), password: env("CLUB_KAFKA_PASSWORD") },
  ssl: false,
  logLevel: logLevel.NOTHING,
  retry: { retries: 2 },
});

const report = { read: 0, events: {}, perTopic: {}, keys: {}, duplicates: 0, skipped: [], failures: [] };
const seen = new Set(); // ce_id of every event already handled

function handle(topic, partition, message) {
  const headers = Object.fromEntries(Object.entries(message.headers || {}).map(([k, v]) => [k, v?.toString()]));
  const where = `${topic}@${partition}:${message.offset}`;
  report.read += 1;
  if (seen.has(headers.ce_id)) { report.duplicates += 1; return; } // at least once: skip repeats
  const entry = schemas.get(headers.ce_type);
  if (!entry) { report.skipped.push(`${where}: unknown ce_type ${headers.ce_type}`); return; }
  if (entry.topic !== topic) report.failures.push(`${where}: ${headers.ce_type} on the wrong topic`);
  if (headers["content-type"] !== "application/json") report.failures.push(`${where}: content-type ${headers["content-type"]}`);
  let data;
  try { data = JSON.parse(message.value.toString()); } catch (e) { report.failures.push(`${where}: not JSON`); return; }
  if (!entry.validate(data)) {
    report.failures.push(`${where} ${headers.ce_type}: ${ajv.errorsText(entry.validate.errors)}`);
    return;
  }
  const key = message.key?.toString();
  if (key !== String(data[entry.key]) || headers.ce_subject !== key) report.failures.push(`${where}: key ${key} is not ${entry.key}`);
  seen.add(headers.ce_id);
  report.events[headers.ce_type] = (report.events[headers.ce_type] || 0) + 1;
  report.perTopic[topic] = (report.perTopic[topic] || 0) + 1;
  (report.keys[topic] ||= []).push(key);
}

// The end of each topic now: what the program reads up to. Any refusal (credentials,
// ACLs) ends the run with the broker's answer in the report.
const end = {}; // topic → partition → the offset to read up to
try {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const topic of topics) {
      end[topic] = {};
      for (const p of await admin.fetchTopicOffsets(topic)) end[topic][p.partition] = Number(p.high);
    }
  } finally {
    await admin.disconnect();
  }
} catch (e) {
  report.error = `${e.type || e.name}: ${e.message}`;
  process.stdout.write(JSON.stringify(report) + "\n");
  process.exit(1);
}

const remaining = new Set();
for (const topic of topics)
  for (const [partition, high] of Object.entries(end[topic]))
    if (high > Number(start[topic]?.[partition] ?? 0)) remaining.add(`${topic}/${partition}`);

const consumer = kafka.consumer({ groupId: env("CLUB_KAFKA_GROUP"), retry: { retries: 2 } });
let failed = null;
let finish;
const done = new Promise((resolve) => { finish = resolve; });
if (remaining.size === 0) finish();
consumer.on(consumer.events.CRASH, (e) => { failed = e.payload.error; finish(); });
consumer.on(consumer.events.GROUP_JOIN, () => {
  // Start where the day began (or at 0): a replay from the topic's history.
  for (const topic of topics)
    for (const partition of Object.keys(end[topic]))
      consumer.seek({ topic, partition: Number(partition), offset: String(start[topic]?.[partition] ?? 0) });
});

try {
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    autoCommit: true,
    eachMessage: async ({ topic, partition, message }) => {
      const offset = Number(message.offset);
      if (offset >= end[topic][partition]) return;
      if (offset >= Number(start[topic]?.[partition] ?? 0)) handle(topic, partition, message);
      if (offset + 1 >= end[topic][partition]) {
        remaining.delete(`${topic}/${partition}`);
        if (remaining.size === 0) finish();
      }
    },
  });
  const timeout = Number(process.env.CLUB_READ_TIMEOUT_MS || 120000);
  await Promise.race([done, new Promise((r) => setTimeout(r, timeout))]);
  if (!failed && remaining.size) failed = new Error(`timed out; unread: ${[...remaining].join(", ")}`);
} catch (e) {
  failed = e;
} finally {
  await consumer.disconnect().catch(() => {});
}
if (failed) report.error = `${failed.type || failed.name}: ${failed.message}`;
process.stdout.write(JSON.stringify(report) + "\n");
process.exit(failed ? 1 : 0);
