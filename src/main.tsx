/*
 * The page's entry: mounts the React app, installs the test hook, and starts the
 * controller (which creates the worker and boots the remembered guest).
 */

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { start } from './controller';
import { installTestHook } from './testhook';
import { App } from './ui/App';
import './styles.css';

installTestHook();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
void start();
