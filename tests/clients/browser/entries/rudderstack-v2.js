// RudderStack's v2 SDK (rudder-sdk-js, deprecated by RudderStack, still on many sites), unchanged.
import * as rudderanalytics from 'rudder-sdk-js'

window.rudderanalytics = rudderanalytics
