// Package deliver holds the delivery stages: deliver, which reads a
// connector's main topic, and retry, which reads its retry tiers once each
// record is due. Both POST each record's body to the connector's endpoint,
// many requests in flight per partition, and settle every record in exactly
// one of three acknowledged ways before its offset may be committed:
// delivered (a 2xx), moved to the next retry tier, or moved to the DLQ for
// being older than the connector's max_age.
package deliver
