export { default as Stat } from './stat.svelte';
