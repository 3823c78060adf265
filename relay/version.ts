/** What this relay is, as it tells the service (the site's relay health shows it) and `sanboot-relay --version` prints. */
import pkg from "../package.json";

export const RELAY_VERSION: string = pkg.version;
