// Segment's analytics.js 2.0 as an npm user bundles it: the package's own entry point, unchanged.
import { AnalyticsBrowser } from '@segment/analytics-next'

window.AnalyticsBrowser = AnalyticsBrowser
