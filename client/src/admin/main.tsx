// Entry of the operator console (/admin, main thread). A page of its own in the Vite build: none of this is in
// the phone app's bundle or its service worker's precache (vite.config.ts).
import { render } from 'solid-js/web';
import { Console } from './Console.tsx';
import 'uplot/dist/uPlot.min.css';
import './admin.css';

render(() => <Console />, document.getElementById('root')!);
