// Command deployer is eventwire's Lambda function. Placeholder until the
// trigger package lands (issue 4).
package main

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, ev json.RawMessage) error {
		return errors.New("deployer: not built yet")
	})
}
