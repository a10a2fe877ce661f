// `npm start`: runs the bundled example app. It becomes the Nexus server once that is built.
import { runSamples } from './shop/workflows/price-order.js'

await runSamples()
