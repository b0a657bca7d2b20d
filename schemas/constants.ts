/**
 * Wire constants without zod, for the client: it runs in browsers, where it
 * should not carry the schemas' weight.
 */

export const KEY_PATTERN = /^[A-Za-z0-9_$][A-Za-z0-9_$.:@+=~-]{0,255}$/;
export const FN_PATTERN = /^[A-Za-z_$][A-Za-z0-9_$.]{0,127}$/;
export const CHANNEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

/** The header that carries the calling client session's credential (from POST /clients). */
export const CLIENT_HEADER = 'sluice-client';

/** A dependency reference inside args or kwargs: {"$future": "<key>"}. */
export const FUTURE_REF = '$future';
