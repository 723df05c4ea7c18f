import { requireService } from '@pushrelay/testkit';
import { probeKamailio } from '@pushrelay/simulators';

export {
  DEFAULT_KAMAILIO_USERS,
  Kamailio,
  kamailioConfig,
  probeKamailio,
  startKamailio,
  type KamailioBinding,
  type KamailioOptions,
  type KamailioUser,
} from '@pushrelay/simulators';

/**
 * Whether the Kamailio tests of a file run: skipped with a printed reason when kamailio is not
 * installed, a failure under PUSHRELAY_REQUIRE_SERVICES=1.
 */
export const kamailioService = await requireService('kamailio', probeKamailio);
