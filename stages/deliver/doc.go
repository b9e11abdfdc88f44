// Package deliver holds the delivery stages: deliver, which reads a
// connector's main topic, and retry, which reads its retry tiers once each
// record is due. Both POST each record's body to the connector's endpoint,
// many requests in flight per partition, and settle every record in exactly
// one of three acknowledged ways before its offset may be committed:
// delivered (a 2xx), moved to the next retry tier, or moved to the DLQ for
// being older than the connector's max_age. Moves are exactly once: the
// stage writes them in its own Kafka transactions, which also commit the
// group's offsets past them (kafka.Consumer.Move).
//
// Retry is not a package of its own because it is the same stage as
// deliver over other topics: NewDeliver and NewRetry build one Stage type
// around the same per-connector handling (send, then retry tier or DLQ),
// and differ only in the topics, the consumer group, and NewRetry's DueAt,
// which holds each retry record until its tier's backoff has passed.
package deliver
