// RudderStack's v3 SDK, the "bundled" build: its plugins (XhrQueue, BeaconQueue, ...) are in the bundle
// instead of fetched at run time from RudderStack's CDN, which a page pointed at Rapport must not need.
import { RudderAnalytics } from '@rudderstack/analytics-js/bundled'

window.RudderAnalytics = RudderAnalytics
