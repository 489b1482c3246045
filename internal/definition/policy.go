package definition

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Policy is what a definition file may point at: the partition, accounts
// and regions of every ARN it names (event sources, destinations, KMS
// keys, secrets, schema registries, target groups, functions), the S3
// buckets it may send failed records to, and the hosts outside AWS it may
// make Lambda connect to (self-managed Kafka bootstrap servers and schema
// registries), with the function's secrets; and which HTTP APIs and target
// groups its push sources may wire.
//
// Lists are allowlists: an empty list allows nothing, and "*" allows
// anything. The zero Policy therefore refuses every ARN with an account,
// every bucket and every host; Parse without a Policy checks none of this.
// APIs and TargetGroups are the exception: nil leaves them unchecked (an
// empty, non-nil list refuses every one), since the deployer may leave
// target groups to IAM's tag condition.
type Policy struct {
	// Accounts are 12-digit account ids.
	Accounts []string
	// Regions are region names, such as us-east-1.
	Regions []string
	// Partition is the partition every ARN must be in ("aws", "aws-cn",
	// ...). Empty: the partitions of Regions (any if Regions has "*",
	// "aws" if it is empty).
	Partition string
	// Buckets are the S3 buckets a destination may name (an S3 bucket ARN
	// names no account or region, so buckets are allowed by name). A
	// trailing "*" matches any name with that prefix.
	Buckets []string
	// KafkaHosts are HOST:PORT patterns of the self-managed Kafka
	// bootstrap servers and schema registries a file may name. HOST is a
	// name, an IP address, "*." and a domain (any name under it) or "*";
	// PORT is a number or "*".
	KafkaHosts []string
	// APIs are the ids of the HTTP APIs whose routes a file's API Gateway
	// sources may wire ("*": any). Nil: not checked.
	APIs []string
	// TargetGroups are the ARN patterns of the target groups a file's
	// Elastic Load Balancing sources may register in: IAM's wildcards, "*"
	// any run of characters and "?" one. Nil: not checked.
	TargetGroups []string
}

// APIsNotEnabled is the error of an API Gateway source when Policy.APIs is
// an empty list.
const APIsNotEnabled = "API Gateway sources are not enabled for this deployer: set apiIds"

// Parse is the package's Parse, with every ARN and host of the file also
// checked against p. Violations are errors like any other, at the value's
// line and column, reported with the file's other problems.
func (p Policy) Parse(path string, data []byte, functionDef []byte) (*File, error) {
	return parse(document{path: path, data: data, functionDef: functionDef}, &p)
}

// Load is the package's Load, with the file checked against p.
func (p Policy) Load(path string) (*File, error) {
	return load(path, &p)
}

// SplitList splits a list setting: values separated by commas or
// whitespace, empty ones dropped (nil if none).
func SplitList(s string) []string {
	list := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
	if len(list) == 0 {
		return nil
	}
	return list
}

var (
	accountRE   = regexp.MustCompile(`^\d{12}$`)
	regionRE    = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-\d+$`)
	partitionRE = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	bucketRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*\*?$`)
	hostRE      = regexp.MustCompile(`^(\*|(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$`)
	portRE      = regexp.MustCompile(`^(\*|\d{1,5})$`)
	// An API id as a file may give it (AWS's are 10 lower-case letters
	// and digits; the stack checks that).
	apiIDRE = regexp.MustCompile(`^` + apiIDPattern + `$`)
	// A target group ARN, IAM wildcards allowed in its region, account,
	// name and id.
	targetGroupRE = regexp.MustCompile(`^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9*?-]+:[0-9*?]{1,12}:targetgroup/[A-Za-z0-9*?-]+/[0-9a-f*?]+$`)
)

// Check returns what is wrong with the policy's own values, one message
// each; nil if nothing.
func (p Policy) Check() []string {
	var out []string
	bad := func(what string, values []string, re *regexp.Regexp, want string) {
		for _, v := range values {
			if v != "*" && !re.MatchString(v) {
				out = append(out, fmt.Sprintf("%s: %q is not %s", what, v, want))
			}
		}
	}
	bad("accounts", p.Accounts, accountRE, "a 12-digit account id or *")
	bad("regions", p.Regions, regionRE, "a region name (us-east-1) or *")
	if p.Partition != "" {
		bad("partition", []string{p.Partition}, partitionRE, "a partition (aws, aws-cn, aws-us-gov, ...) or *")
	}
	bad("buckets", p.Buckets, bucketRE, "an S3 bucket name, a prefix ending in *, or *")
	for _, h := range p.KafkaHosts {
		host, port, ok := strings.Cut(h, ":")
		if h != "*" && (!ok || !hostRE.MatchString(host) || !portRE.MatchString(port)) {
			out = append(out, fmt.Sprintf("kafka hosts: %q is not HOST:PORT (a name, *.DOMAIN or *; a port or *)", h))
		}
	}
	bad("API ids", p.APIs, apiIDRE, "an HTTP API id (letters and digits) or *")
	bad("target groups", p.TargetGroups, targetGroupRE,
		"a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID, * and ? allowed) or *")
	return out
}

// PartitionOf is the partition of a region.
func PartitionOf(region string) string {
	for _, p := range []struct{ prefix, partition string }{
		{"cn-", "aws-cn"}, {"us-gov-", "aws-us-gov"}, {"us-isob-", "aws-iso-b"}, {"us-isof-", "aws-iso-f"},
		{"eu-isoe-", "aws-iso-e"}, {"us-iso-", "aws-iso"}, {"eusc-", "aws-eusc"},
	} {
		if strings.HasPrefix(region, p.prefix) {
			return p.partition
		}
	}
	return "aws"
}

// partitions are the partitions p allows.
func (p Policy) partitions() []string {
	if p.Partition != "" {
		return []string{p.Partition}
	}
	if slices.Contains(p.Regions, "*") {
		return []string{"*"}
	}
	var out []string
	for _, r := range p.Regions {
		if !slices.Contains(out, PartitionOf(r)) {
			out = append(out, PartitionOf(r))
		}
	}
	if len(out) == 0 {
		out = []string{"aws"}
	}
	return out
}

// allowed tells whether v is in list ("*" allows anything).
func allowed(list []string, v string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, v)
}

// listOrNone prints an allowlist for a message.
func listOrNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// bucketAllowed tells whether bucket is in p.Buckets.
func (p Policy) bucketAllowed(bucket string) bool {
	for _, b := range p.Buckets {
		if b == bucket || strings.HasSuffix(b, "*") && strings.HasPrefix(bucket, strings.TrimSuffix(b, "*")) {
			return true
		}
	}
	return false
}

// hostAllowed tells whether host:port matches one of p.KafkaHosts.
func (p Policy) hostAllowed(host, port string) bool {
	host = strings.ToLower(host)
	for _, pat := range p.KafkaHosts {
		if pat == "*" {
			return true
		}
		ph, pp, ok := strings.Cut(strings.ToLower(pat), ":")
		if !ok || (pp != "*" && pp != port) {
			continue
		}
		if ph == "*" || ph == host || strings.HasPrefix(ph, "*.") && strings.HasSuffix(host, ph[1:]) {
			return true
		}
	}
	return false
}

// targetGroupAllowed tells whether arn matches one of p.TargetGroups, as
// IAM matches a resource pattern: "*" any run of characters, "?" one.
func (p Policy) targetGroupAllowed(arn string) bool {
	for _, pat := range p.TargetGroups {
		if wildcardRE(pat).MatchString(arn) {
			return true
		}
	}
	return false
}

// wildcardRE is the regular expression of an IAM resource pattern.
func wildcardRE(pattern string) *regexp.Regexp {
	q := regexp.QuoteMeta(pattern)
	q = strings.ReplaceAll(q, `\*`, `.*`)
	q = strings.ReplaceAll(q, `\?`, `.`)
	return regexp.MustCompile(`^` + q + `$`)
}

// policyCheck checks the values of one file against a Policy, reporting
// through the file's walker.
type policyCheck struct {
	w *walker
	p *Policy
}

// file checks every ARN and host the file names. It reads only values that
// passed their own spec, so that a malformed one is reported once.
func (c policyCheck) file(root *node) {
	if n := root.value("FunctionName"); n != nil {
		c.function(n, "FunctionName")
	}
	if push := root.value("PushEventSources"); push != nil && push.kind == kindArray {
		for i, it := range push.items {
			c.push(it, pathIndex("PushEventSources", i))
		}
	}
	esm := root.value("PullEventSources").value("EventSourceMapping")
	switch {
	case esm == nil:
	case esm.kind == kindObject:
		c.mapping(esm, "PullEventSources.EventSourceMapping")
	case esm.kind == kindArray:
		for i, it := range esm.items {
			c.mapping(it, pathIndex("PullEventSources.EventSourceMapping", i))
		}
	}
}

// push checks one push source: its target group's ARN, and its target
// group or API against the lists of those.
func (c policyCheck) push(n *node, path string) {
	if tg := n.value("TargetGroupArn"); tg != nil && c.w.valid(tg, pushSpec.field("TargetGroupArn")) {
		p := pathKey(path, "TargetGroupArn")
		c.arn(tg, p, tg.str)
		if c.p.TargetGroups != nil && !c.p.targetGroupAllowed(tg.str) {
			c.w.errorf(tg.off, p, "target group %s is not an allowed target group (allowed: %s)", tg.str, listOrNone(c.p.TargetGroups))
		}
	}
	api := n.value("ApiId")
	if api == nil || c.p.APIs == nil || !c.w.valid(api, pushSpec.field("ApiId")) {
		return
	}
	switch p := pathKey(path, "ApiId"); {
	case len(c.p.APIs) == 0:
		c.w.errorf(api.off, p, "%s", APIsNotEnabled)
	case !allowed(c.p.APIs, api.str):
		c.w.errorf(api.off, p, "API %s is not an allowed API (allowed: %s)", api.str, listOrNone(c.p.APIs))
	}
}

// mapping checks one pull entry.
func (c policyCheck) mapping(n *node, path string) {
	if n.kind != kindObject {
		return
	}
	if fn := n.value("FunctionName"); fn != nil {
		c.function(fn, pathKey(path, "FunctionName"))
	}
	c.arnField(n, mappingSpec, path, "EventSourceArn")
	c.arnField(n, mappingSpec, path, "KMSKeyArn")
	if dc := n.value("DestinationConfig"); dc != nil {
		dcSpec := mappingSpec.field("DestinationConfig")
		for _, k := range []string{"OnFailure", "OnSuccess"} {
			c.arnField(dc.value(k), dcSpec.field(k), pathKeys(path, "DestinationConfig", k), "Destination")
		}
	}
	if sacs := n.value("SourceAccessConfigurations"); sacs != nil && sacs.kind == kindArray {
		for i, it := range sacs.items {
			// Secrets are ARNs; subnets, security groups and virtual
			// hosts are not, and live where the mapping does.
			c.arnField(it, mappingSpec.field("SourceAccessConfigurations").elem, pathIndex(pathKey(path, "SourceAccessConfigurations"), i), "URI")
		}
	}
	for _, k := range []string{"AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig"} {
		if src := n.value(k).value("SchemaRegistryConfig"); src != nil {
			c.schemaRegistry(src, pathKeys(path, k, "SchemaRegistryConfig"))
		}
	}
	if eps := n.value("SelfManagedEventSource").value("Endpoints"); eps != nil && eps.kind == kindObject {
		for _, m := range eps.members {
			if m.val.kind != kindArray {
				continue
			}
			for i, it := range m.val.items {
				host, port, _ := strings.Cut(it.str, ":")
				if c.w.valid(it, endpointSpec) && !c.p.hostAllowed(host, port) {
					c.w.errorf(it.off, pathIndex(pathKeys(path, "SelfManagedEventSource", "Endpoints", m.key), i),
						"Kafka host %s is not an allowed host (allowed: %s)", it.str, listOrNone(c.p.KafkaHosts))
				}
			}
		}
	}
}

// schemaRegistry checks a schema registry: a Glue registry ARN or a
// Confluent registry URL, and the secrets to reach it.
func (c policyCheck) schemaRegistry(n *node, path string) {
	if uri := n.value("SchemaRegistryURI"); uri != nil && c.w.valid(uri, schemaRegistrySpec.field("SchemaRegistryURI")) {
		p := pathKey(path, "SchemaRegistryURI")
		if strings.HasPrefix(uri.str, "arn:") {
			c.arn(uri, p, uri.str)
		} else if host, port, ok := urlHost(uri.str); !ok {
			c.w.errorf(uri.off, p, "%s is neither an ARN nor an http(s) URL with a host", shortQuote(uri.str))
		} else if !c.p.hostAllowed(host, port) {
			c.w.errorf(uri.off, p, "schema registry host %s is not an allowed Kafka host (allowed: %s)", net.JoinHostPort(host, port), listOrNone(c.p.KafkaHosts))
		}
	}
	if acs := n.value("AccessConfigs"); acs != nil && acs.kind == kindArray {
		for i, it := range acs.items {
			c.arnField(it, schemaRegistrySpec.field("AccessConfigs").elem, pathIndex(pathKey(path, "AccessConfigs"), i), "URI")
		}
	}
}

// urlHost is the host and port of an http or https URL (port 443 or 80
// when it has none).
func urlHost(s string) (host, port string, ok bool) {
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", "", false
	}
	port = u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	return u.Hostname(), port, true
}

// arnField checks member key of n (spec s) if it is a valid ARN; other
// values (empty, kafka://, subnet:...) name nothing to check.
func (c policyCheck) arnField(n *node, s *spec, path, key string) {
	v := n.value(key)
	if v == nil || !strings.HasPrefix(v.str, "arn:") || !c.w.valid(v, s.field(key)) {
		return
	}
	c.arn(v, pathKey(path, key), v.str)
}

// arn checks one ARN (the value of n) against the policy.
func (c policyCheck) arn(n *node, path, arn string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return // the field's pattern reports it
	}
	partition, service, region, account, resource := parts[1], parts[2], parts[3], parts[4], parts[5]
	if !c.partition(n, path, partition) {
		return
	}
	if service == "s3" && region == "" && account == "" {
		bucket, _, _ := strings.Cut(resource, "/")
		if !c.p.bucketAllowed(bucket) {
			c.w.errorf(n.off, path, "S3 bucket %q is not an allowed bucket (allowed: %s): a bucket ARN names no account, so buckets are allowed by name", bucket, listOrNone(c.p.Buckets))
		}
		return
	}
	c.place(n, path, where{region, account}, true)
}

// function checks a function reference: the parts of an ARN or partial
// ARN it gives (a bare name is the deployer's own account and region).
func (c policyCheck) function(n *node, path string) {
	if !c.w.valid(n, functionNameSpec) {
		return
	}
	ref, ok := ParseFunctionRef(n.str)
	if !ok || ref.Partition != "" && !c.partition(n, path, ref.Partition) {
		return
	}
	c.place(n, path, where{ref.Region, ref.Account}, false)
}

func (c policyCheck) partition(n *node, path, partition string) bool {
	if allowed := c.p.partitions(); !slices.Contains(allowed, "*") && !slices.Contains(allowed, partition) {
		c.w.errorf(n.off, path, "partition %s is not an allowed partition (allowed: %s)", partition, strings.Join(allowed, ", "))
		return false
	}
	return true
}

// where is the region and account an ARN names ("" where it names none).
type where struct{ region, account string }

// place checks an account and a region; required says that an ARN without
// them is refused (a function reference may leave them out).
func (c policyCheck) place(n *node, path string, at where, required bool) {
	region, account := at.region, at.account
	switch {
	case account == "" && required:
		c.w.errorf(n.off, path, "ARN names no account: only ARNs in allowed accounts are accepted (allowed: %s)", listOrNone(c.p.Accounts))
	case account != "" && !allowed(c.p.Accounts, account):
		c.w.errorf(n.off, path, "account %s is not an allowed account (allowed: %s)", account, listOrNone(c.p.Accounts))
	}
	switch {
	case region == "" && required:
		c.w.errorf(n.off, path, "ARN names no region: only ARNs in allowed regions are accepted (allowed: %s)", listOrNone(c.p.Regions))
	case region != "" && !allowed(c.p.Regions, region):
		c.w.errorf(n.off, path, "region %s is not an allowed region (allowed: %s)", region, listOrNone(c.p.Regions))
	}
}

// endpointSpec is a self-managed Kafka bootstrap server's.
var endpointSpec = mappingSpec.field("SelfManagedEventSource").field("Endpoints").elem.elem

// valid tells whether n passes s, reporting nothing.
func (w *walker) valid(n *node, s *spec) bool {
	quiet := &walker{pos: w.pos, errs: &errorList{}}
	return quiet.walk(n, s, "") && len(quiet.errs.errs) == 0
}
