export { default as DropdownMenu } from './dropdown-menu.svelte';
export { menuItemClass } from './variants';
