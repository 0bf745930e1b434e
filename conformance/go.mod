module github.com/ifmatch-go/ifmatch/conformance

go 1.23

require (
	github.com/ifmatch-go/ifmatch v0.0.0
	github.com/twilio/twilio-go v1.31.0
)

require (
	github.com/cenkalti/backoff/v4 v4.3.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.2.2 // indirect
	github.com/golang/mock v1.6.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	github.com/jarcoal/httpmock v1.4.2 // indirect
	github.com/pkg/errors v0.9.1 // indirect
)

replace github.com/ifmatch-go/ifmatch => ../
