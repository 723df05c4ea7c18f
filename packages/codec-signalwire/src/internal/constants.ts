export const CODEC_NAME = 'signalwire';
