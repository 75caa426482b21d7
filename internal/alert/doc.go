// Package alert turns readings into alerts and alerts into notifications.
//
// Rules (Evaluate) are pure functions over a bin, its devices, its recent
// readings, the clock and, when available, the fill forecast; each returns
// "firing", "cleared" or nothing (no data, or inside a hysteresis band).
// The Engine feeds them: the ingest writer's commit hook hands it committed
// readings through a bounded queue (never blocking the writer), and a timer
// sweep re-evaluates every bin for the rules that fire on absence (offline,
// door open too long). The Engine opens an alert through the
// civic.AlertStore when a rule fires, which keeps one unresolved alert per
// bin and rule, and resolves it as civic.SystemActor when the rule clears.
// When several nodes share one database, EngineOptions.Singleton leaves the
// sweep to the one node holding its lock.
//
// The store queues a notification for every matching subscription in the
// transaction that changes the alert (an outbox), so a restart loses none.
// The Notifier drains that outbox: webhooks are JSON POSTs signed with
// HMAC-SHA256 over "timestamp.body" in the Civic-Signature header (see Sign
// and VerifySignature); e-mail goes through SMTP. Failed deliveries are
// retried with exponential backoff and jitter up to a maximum number of
// attempts. Critical (fire) alerts go out at once; the other notifications
// of a subscription with a digest window go out together as one digest.
//
// Time and randomness are injected; every background part has Start and
// Close.
package alert
