/**
 * What to tell a user whose data is missing, per provider: Terra's guide to debugging missing
 * data. Terra only sends what has reached the provider's cloud, so the first step is always the
 * provider's app and web dashboard; the second, checking the user connected the account that holds
 * the data (Terra's `provider_user_id`, from the athlete profile). Pure.
 */

/** How to make the provider's app push its data to the provider's cloud, where Terra reads it. */
const syncAdvice: Record<string, string> = {
  GARMIN:
    'open Garmin Connect on the phone and pull down from the top (tap the circle arrow) until everything refreshes; the data must then show on the Garmin Connect web dashboard. If it does there but not here after 1–2 minutes, contact Terra support',
  FITBIT: 'open the Fitbit app (latest version) and let it sync; the data must then show on fitbit.com',
  GOOGLE:
    'open Google Fit, check the data is up to date on its screen, then pull down to sync it with the cloud; Google can take 30–60 minutes to serve it, and background app refresh must be on for Google Fit',
  APPLE:
    "Apple Health is read on the phone by your app (Terra's iOS SDK): Low Power Mode must be off (Settings > Battery) and Background App Refresh on for your app (Settings > General). A backfill from Terra's dashboard (Tools > Debug > Users, TerraiOS ≥ 1.6.12) tells whether background delivery is what fails",
  FREESTYLELIBRE:
    'open the LibreLink app so the sensor readings upload to LibreView; they must then show under Glucose History on libreview.com',
};

export function syncStep(provider: string | undefined): string {
  const name = provider ?? "the provider's";
  const advice =
    (provider && syncAdvice[provider.toUpperCase()]) ??
    `open the ${name} app on the phone and sync it (pull down to refresh); the data must then show on ${name}'s web dashboard`;
  return `Ask the user to sync: ${advice}. Terra can only send what has reached ${name}'s cloud.`;
}

/** Where the account behind a provider user id can be looked at (Terra's guide), if anywhere. */
function accountPage(provider: string, providerUserId: string): string | undefined {
  switch (provider.toUpperCase()) {
    case 'FREESTYLELIBRE':
      return `https://www.libreview.com/patient/${providerUserId}/profile (in your LibreView practice: name, email and Glucose History)`;
    case 'MYFITNESSPAL':
      return `https://www.myfitnesspal.com/food/diary/${providerUserId} (an error page means a wrong username or diary sharing turned off)`;
    case 'FITBIT':
      return 'the Fitbit app: avatar > display name > Personal, the Fitbit user ID at the bottom of the page';
    default:
      return undefined;
  }
}

/** `athleteCommand` asks Terra for the athlete profile, which carries the provider_user_id. */
export function accountStep(provider: string | undefined, providerUserId: string | undefined, athleteCommand: string): string {
  const name = provider ?? 'the provider';
  if (!providerUserId) {
    return `Check the user connected the right ${name} account (one with little, old or no data is a common mistake): no provider_user_id is stored for this user; ask Terra for the athlete profile that carries it: ${athleteCommand}`;
  }
  const page = provider ? accountPage(provider, providerUserId) : undefined;
  return `Check the user connected the right ${name} account: Terra sees ${name} user ${providerUserId}${page ? `; compare with ${page}` : "; compare it with the account the user's app is signed in to"}. If it is not theirs, have them connect again with the right one.`;
}
