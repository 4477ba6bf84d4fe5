import { benchCollect } from "./collect.ts";
console.log(await benchCollect());
