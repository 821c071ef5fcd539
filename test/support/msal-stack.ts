// A stack that signs in to Defender with real MSAL and a client secret, its sign-in routed to the simulator's
// token endpoint: for tests of the credentials path (secrets, sign-in outages).
import { createMsalTokenProvider, type TokenProvider } from '../../defender/token-provider.js';
import type { DefenderSimulator, DefenderSimulatorOptions } from '../../simulator/defender-simulator.js';
import { createOfflineMsalSetup } from '../../simulator/offline-msal-setup.js';

export const MSAL_APP = {
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '11111111-2222-3333-4444-555555555555',
  clientSecret: 'client-secret-9Xq~3b7d51e8c2f4a6',
  /** Every token the simulator's endpoint issues carries this in its signature: tests look for it in logs. */
  accessToken: 'sim-token-2a8f61c0e4b94d7a',
} as const;

/** Bot settings: no pre-issued token, the app registration's credentials instead. */
export const MSAL_ENV: Record<string, string> = {
  DEFENDER_ACCESS_TOKEN: '',
  DEFENDER_TENANT_ID: MSAL_APP.tenantId,
  DEFENDER_CLIENT_ID: MSAL_APP.clientId,
  DEFENDER_CLIENT_SECRET: MSAL_APP.clientSecret,
};

/** Simulator settings: its token endpoint accepts only this app and secret. */
export const MSAL_SIM: DefenderSimulatorOptions = {
  accessToken: MSAL_APP.accessToken,
  tokenEndpoint: { clientId: MSAL_APP.clientId, clientSecret: MSAL_APP.clientSecret },
};

/** A fresh MSAL client (empty token cache) signing in against the simulator. */
export function msalSignIn(sim: DefenderSimulator): TokenProvider {
  return createMsalTokenProvider({
    tenantId: MSAL_APP.tenantId,
    clientId: MSAL_APP.clientId,
    clientSecret: MSAL_APP.clientSecret,
    apiUrl: sim.url,
    ...createOfflineMsalSetup(sim.url, { tenantId: MSAL_APP.tenantId }),
  });
}
