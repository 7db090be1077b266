export { default as Alert } from './alert.svelte';
export { type AlertTone, alertVariants } from './variants';
