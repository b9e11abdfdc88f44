package kafka

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// ExplainAuthorization wraps an authorization failure from Kafka with the
// ACLs hookpipe needs for topic and group prefix prefix ("hookpipe.");
// other errors are returned as they are.
func ExplainAuthorization(err error, prefix string, verifyOnly bool) error {
	topicOps := "Create, Describe, DescribeConfigs, AlterConfigs, Read, Write"
	if verifyOnly {
		topicOps = "Describe, DescribeConfigs, Read, Write"
	}
	switch {
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed):
		return fmt.Errorf("%w; hookpipe's principal needs, on topics with the prefix %q: %s", err, prefix, topicOps)
	case errors.Is(err, kerr.GroupAuthorizationFailed):
		return fmt.Errorf("%w; hookpipe's principal needs, on groups with the prefix %q: Read, Describe", err, prefix)
	case errors.Is(err, kerr.TransactionalIDAuthorizationFailed):
		return fmt.Errorf("%w; hookpipe's principal needs, on transactional ids with the prefix %q: Write, Describe", err, prefix)
	}
	return err
}
