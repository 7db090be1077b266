export { default as Spinner } from './spinner.svelte';
