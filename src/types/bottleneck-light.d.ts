// bottleneck ships types for its main entry only; light.js (what the Octokit throttling plugin uses) has the same API.
declare module 'bottleneck/light.js' {
  import Bottleneck from 'bottleneck';
  export default Bottleneck;
}
