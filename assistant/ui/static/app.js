// Clicking "[n]" anywhere scrolls the essay to passage n and flashes it, instead of following the link.
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[href^="#cite-"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const n = link.getAttribute('href').slice(6);
  const anchor = document.getElementById('cite-' + n);
  if (!anchor) return;
  anchor.scrollIntoView({behavior: 'smooth', block: 'center'});
  document.querySelectorAll('mark.cited').forEach((m) => {
    m.classList.toggle('flash', m.dataset.cites.split(' ').includes(n));
  });
}, true);
