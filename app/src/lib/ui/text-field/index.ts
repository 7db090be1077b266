export { default as TextField } from './text-field.svelte';
