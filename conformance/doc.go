// Package conformance drives the ifmatchtest fake with the official
// twilio-go client through every operation of Twilio's specs that takes
// If-Match or returns ETag, and through the Sync containers, so CI proves
// the fake answers what Twilio's own client expects. It is a module of its
// own, so users of ifmatch never download twilio-go.
package conformance
