export { default as SelectField } from './select-field.svelte';
