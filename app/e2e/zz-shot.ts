import { startProduct, signUpThroughTheApp, newPage } from './harness.ts';
const product = await startProduct();
try {
  const page = await newPage(product.browser);
  await signUpThroughTheApp(page, product.baseUrl, { name: 'Ada Lovelace', email: `ada${Date.now()}@example.com`, organizationName: 'Analytical Engines' });
  const sizes = await page.evaluate(() => {
    const header = document.querySelector('header > div')!;
    return [...header.children].map((child) => [child.tagName, child.getBoundingClientRect().width, child.scrollWidth]);
  });
  console.log(JSON.stringify(sizes), await page.evaluate(() => document.querySelector('header > div')!.clientWidth));
} finally {
  await product.stop();
}
