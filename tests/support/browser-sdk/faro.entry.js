import * as FaroWeb from '@grafana/faro-web-sdk'; window.FaroWeb = FaroWeb;
