package lambdasvc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/wiring"
)

// MappingAPI is the slice of *lambda.Client that Mappings needs.
type MappingAPI interface {
	lambda.ListEventSourceMappingsAPIClient
	CreateEventSourceMapping(ctx context.Context, in *lambda.CreateEventSourceMappingInput, optFns ...func(*lambda.Options)) (*lambda.CreateEventSourceMappingOutput, error)
	GetEventSourceMapping(ctx context.Context, in *lambda.GetEventSourceMappingInput, optFns ...func(*lambda.Options)) (*lambda.GetEventSourceMappingOutput, error)
	UpdateEventSourceMapping(ctx context.Context, in *lambda.UpdateEventSourceMappingInput, optFns ...func(*lambda.Options)) (*lambda.UpdateEventSourceMappingOutput, error)
	DeleteEventSourceMapping(ctx context.Context, in *lambda.DeleteEventSourceMappingInput, optFns ...func(*lambda.Options)) (*lambda.DeleteEventSourceMappingOutput, error)
	ListTags(ctx context.Context, in *lambda.ListTagsInput, optFns ...func(*lambda.Options)) (*lambda.ListTagsOutput, error)
	TagResource(ctx context.Context, in *lambda.TagResourceInput, optFns ...func(*lambda.Options)) (*lambda.TagResourceOutput, error)
	UntagResource(ctx context.Context, in *lambda.UntagResourceInput, optFns ...func(*lambda.Options)) (*lambda.UntagResourceOutput, error)
}

// Mappings reads and writes event source mappings.
type Mappings struct {
	api MappingAPI
}

// NewMappings returns a Mappings that calls api.
func NewMappings(api MappingAPI) *Mappings { return &Mappings{api: api} }

// List returns the mappings that Lambda lists for function (an unqualified
// or qualified function ARN, as ListEventSourceMappings documents; "" for
// every mapping of the account and region), all pages. Lambda's list
// carries no tags: they are read (ListTags) for each mapping that mine
// accepts (every mapping if mine is nil), the ones that could be
// eventwire's; the others have nil Tags. Callers must still check each
// mapping's FunctionArn: what a function filter matches differs between
// AWS and emulators.
func (s *Mappings) List(ctx context.Context, function string, mine func(wiring.Mapping) bool) ([]wiring.Mapping, error) {
	if mine == nil {
		mine = func(wiring.Mapping) bool { return true }
	}
	return s.list(ctx, function, mine)
}

// ListTagged returns every mapping of the account and region, all pages,
// with the tags of those that tagged accepts (ListTags, one call each);
// the others have nil Tags.
func (s *Mappings) ListTagged(ctx context.Context, tagged func(wiring.Mapping) bool) ([]wiring.Mapping, error) {
	return s.list(ctx, "", tagged)
}

func (s *Mappings) list(ctx context.Context, function string, tagged func(wiring.Mapping) bool) ([]wiring.Mapping, error) {
	in := &lambda.ListEventSourceMappingsInput{}
	if function != "" {
		in.FunctionName = aws.String(function)
	}
	p := lambda.NewListEventSourceMappingsPaginator(s.api, in)
	var out []wiring.Mapping
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list event source mappings of %s: %w", function, translate(err))
		}
		for _, c := range page.EventSourceMappings {
			out = append(out, observed(c))
		}
	}
	kept := out[:0]
	for _, o := range out {
		if o.ARN == "" || !tagged(o) {
			kept = append(kept, o)
			continue
		}
		tags, err := s.api.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(o.ARN)})
		if err != nil {
			err = translate(err)
			if errors.Is(err, ErrNotFound) {
				// Deleted since it was listed: kept, without tags.
				kept = append(kept, o)
				continue
			}
			return nil, fmt.Errorf("list tags of event source mapping %s: %w", o.UUID, err)
		}
		o.Tags = cloneMap(tags.Tags)
		kept = append(kept, o)
	}
	return kept, nil
}

// Get returns the mapping with the given UUID, without its tags. A missing
// mapping is an error wrapping ErrNotFound.
func (s *Mappings) Get(ctx context.Context, uuid string) (wiring.Mapping, error) {
	out, err := s.api.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(uuid)})
	if err != nil {
		return wiring.Mapping{}, fmt.Errorf("get event source mapping %s: %w", uuid, translate(err))
	}
	o := observed(configOf(out))
	if o.UUID == "" {
		// Emulators answer an unknown mapping with an empty body.
		return wiring.Mapping{}, fmt.Errorf("get event source mapping %s: %w", uuid, ErrNotFound)
	}
	return o, nil
}

// Create creates the mapping m (every field of the request, Tags included)
// and returns it as AWS reports it, with m's tags.
func (s *Mappings) Create(ctx context.Context, m definition.Mapping) (wiring.Mapping, error) {
	out, err := s.api.CreateEventSourceMapping(ctx, createInput(m))
	if err != nil {
		return wiring.Mapping{}, fmt.Errorf("create event source mapping of %s to %s: %w",
			deref(m.EventSourceArn), deref(m.FunctionName), roleNotReady(translate(err)))
	}
	o := observed(configOf(out))
	o.Tags = cloneMap(m.Tags)
	return o, nil
}

// Update sends the non-nil updatable fields of fields, and only those, to
// UpdateEventSourceMapping. A non-nil empty value is sent as such and clears
// the setting: FilterCriteria{Filters: []}, ScalingConfig{},
// DestinationConfig{OnFailure: &Destination{}}, an empty
// FunctionResponseTypes list. Fields that cannot be updated (EventSourceArn,
// StartingPosition, StartingPositionTimestamp, Queues, Topics,
// SelfManagedEventSource, Tags) are an error.
func (s *Mappings) Update(ctx context.Context, uuid string, fields definition.Mapping) (wiring.Mapping, error) {
	if f := createOnlyField(fields); f != "" {
		return wiring.Mapping{}, fmt.Errorf("update event source mapping %s: %s cannot be updated", uuid, f)
	}
	out, err := s.api.UpdateEventSourceMapping(ctx, updateInput(uuid, fields))
	if err != nil {
		return wiring.Mapping{}, fmt.Errorf("update event source mapping %s: %w", uuid, roleNotReady(translate(err)))
	}
	o := observed(configOf(out))
	if o.UUID == "" {
		return wiring.Mapping{}, fmt.Errorf("update event source mapping %s: %w", uuid, ErrNotFound)
	}
	return o, nil
}

// ErrRoleNotReady: Lambda refused to create or update a mapping because the
// function's execution role cannot be assumed or may not read the source
// yet (InvalidParameterValueException). That is what it answers while a
// new role or policy propagates through IAM, so it is worth retrying.
var ErrRoleNotReady = errors.New("execution role not ready")

// roleNotReady marks err with ErrRoleNotReady when it is Lambda's refusal
// of the execution role (the messages Terraform retries on, too).
func roleNotReady(err error) error {
	var ip *types.InvalidParameterValueException
	if !errors.As(err, &ip) {
		return err
	}
	msg := ip.ErrorMessage()
	for _, s := range []string{"cannot be assumed by Lambda", "execution role does not have permissions", "ensure the role can perform"} {
		if strings.Contains(msg, s) {
			return fmt.Errorf("%w: %w", ErrRoleNotReady, err)
		}
	}
	return err
}

func createOnlyField(m definition.Mapping) string {
	switch {
	case m.EventSourceArn != nil:
		return "EventSourceArn"
	case m.StartingPosition != nil:
		return "StartingPosition"
	case m.StartingPositionTimestamp != nil:
		return "StartingPositionTimestamp"
	case m.Queues != nil:
		return "Queues"
	case m.Topics != nil:
		return "Topics"
	case m.SelfManagedEventSource != nil:
		return "SelfManagedEventSource"
	case m.Tags != nil:
		return "Tags"
	}
	return ""
}

// Delete deletes the mapping. A mapping that does not exist is success.
func (s *Mappings) Delete(ctx context.Context, uuid string) error {
	_, err := s.api.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: aws.String(uuid)})
	if err = translate(err); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete event source mapping %s: %w", uuid, err)
	}
	return nil
}

// Tag adds or overwrites tags on the mapping with the given ARN.
func (s *Mappings) Tag(ctx context.Context, arn string, tags map[string]string) error {
	if len(tags) == 0 {
		return nil
	}
	_, err := s.api.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: cloneMap(tags)})
	if err != nil {
		return fmt.Errorf("tag event source mapping %s: %w", arn, translate(err))
	}
	return nil
}

// Untag removes the tag keys from the mapping with the given ARN.
func (s *Mappings) Untag(ctx context.Context, arn string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := s.api.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: cloneStrings(keys)})
	if err != nil {
		return fmt.Errorf("untag event source mapping %s: %w", arn, translate(err))
	}
	return nil
}
