// Keeps the app exactly as tall as what the person can see (main thread). With an on-screen keyboard up, iOS
// Safari shrinks only the *visual* viewport (it has no interactive-widget=resizes-content), so the text box
// would sit under the keyboard: --app-height follows visualViewport.height, and the page is scrolled back to
// the top so the fixed header stays in view. Chromium on Android resizes the layout itself (index.html meta).
export function followVisualViewport(win: Window, root: HTMLElement): () => void {
  const vv = win.visualViewport;
  if (!vv) return () => undefined;
  const apply = () => {
    root.style.setProperty('--app-height', `${Math.round(vv.height)}px`);
    if (win.scrollY !== 0) win.scrollTo(0, 0);
  };
  apply();
  vv.addEventListener('resize', apply);
  vv.addEventListener('scroll', apply);
  return () => {
    vv.removeEventListener('resize', apply);
    vv.removeEventListener('scroll', apply);
  };
}
