/** The look of a `role="menuitem"` link or button inside a dropdown menu. */
export const menuItemClass = [
  'flex w-full items-center gap-2.5 rounded-lg px-2.5 py-2 text-left text-sm text-zinc-700',
  'hover:bg-zinc-100 hover:text-zinc-900 focus:bg-zinc-100 focus:text-zinc-900 focus:outline-none',
  'disabled:pointer-events-none disabled:opacity-60',
].join(' ');
