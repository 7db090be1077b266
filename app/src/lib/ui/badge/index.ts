export { default as Badge } from './badge.svelte';
export { type BadgeTone, badgeVariants } from './variants';
