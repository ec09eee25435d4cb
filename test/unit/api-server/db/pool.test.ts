import {
  ConnectionUrlError,
  createPool,
  parseConnectionUrl,
  poolOptions,
} from '../../../../api-server/src/db/pool.js';

const SECRET = 'Sup3rS3cret';

describe('parseConnectionUrl', () => {
  it('reads the URL glance-api.conf carries, decoding an escaped password', () => {
    expect(
      parseConnectionUrl('mysql+pymysql://glance:p%40ss%3Aw%2Frd@127.0.0.1/glance?charset=utf8'),
    ).toEqual({
      user: 'glance',
      password: 'p@ss:w/rd',
      host: '127.0.0.1',
      port: 3306,
      socketPath: null,
      database: 'glance',
      connectTimeoutMs: null,
    });
  });

  it('accepts plain mysql:// and mariadb:// URLs with a port', () => {
    expect(parseConnectionUrl('mysql://glance:pw@db.example.com:3307/images')).toMatchObject({
      host: 'db.example.com',
      port: 3307,
      database: 'images',
    });
    expect(parseConnectionUrl('mariadb+pymysql://glance:pw@db-1.internal/glance')).toMatchObject({
      host: 'db-1.internal',
    });
  });

  it('accepts a bracketed IPv6 host', () => {
    expect(parseConnectionUrl('mysql+pymysql://glance:pw@[fd00::1]:3307/glance')).toMatchObject({
      host: 'fd00::1',
      port: 3307,
    });
  });

  it('takes a unix_socket query parameter in place of a host', () => {
    expect(
      parseConnectionUrl('mysql+pymysql://glance:pw@/glance?unix_socket=%2Frun%2Fmysqld%2Fmysqld.sock'),
    ).toMatchObject({ host: null, socketPath: '/run/mysqld/mysqld.sock' });
  });

  it('allows a user without a password', () => {
    expect(parseConnectionUrl('mysql://glance@localhost/glance')).toMatchObject({
      user: 'glance',
      password: '',
    });
  });

  it('ignores a SQLAlchemy plugin and converts connect_timeout to milliseconds', () => {
    expect(
      parseConnectionUrl(
        'mysql+pymysql://glance:pw@h/glance?plugin=dbcounter&connect_timeout=7&charset=utf8mb4',
      ),
    ).toMatchObject({ connectTimeoutMs: 7000 });
  });

  const bad: Array<[string, string, RegExp]> = [
    ['another dialect', `postgresql://glance:${SECRET}@h/glance`, /only MySQL\/MariaDB/],
    ['a string that is no URL', `glance:${SECRET}`, /malformed/],
    ['no database', `mysql+pymysql://glance:${SECRET}@h`, /names no database/],
    ['an empty database', `mysql+pymysql://glance:${SECRET}@h/?charset=utf8`, /names no database/],
    ['no user', `mysql+pymysql://:${SECRET}@h/glance`, /names no user/],
    ['a port that is not a number', `mysql://glance:${SECRET}@h:33o6/glance`, /port must be a number/],
    ['a port out of range', `mysql://glance:${SECRET}@h:70000/glance`, /between 1 and 65535/],
    ['an unescaped @ in the password', `mysql://glance:Sup3r@S3cret@h/glance`, /%40/],
    ['an unescaped : and @ in the password', `mysql://glance:Sup3r:x@S3cret@h/glance`, /%40/],
    ['a broken %-escape in the password', `mysql://glance:Sup3r%ZZS3cret@h/glance`, /invalid %-escape/],
    [
      'neither host nor socket',
      `mysql+pymysql://glance:${SECRET}@/glance`,
      /neither a host nor a unix_socket/,
    ],
    ['an unsupported query parameter', `mysql://glance:${SECRET}@h/glance?ssl_ca=/x`, /unsupported .*ssl_ca/],
    ['a non-UTF-8 charset', `mysql://glance:${SECRET}@h/glance?charset=latin1`, /charset must be one of/],
    [
      'a repeated unix_socket',
      `mysql://glance:${SECRET}@/glance?unix_socket=/a&unix_socket=/b`,
      /given once/,
    ],
    ['a bad connect_timeout', `mysql://glance:${SECRET}@h/glance?connect_timeout=soon`, /connect_timeout/],
  ];

  it.each(bad)('rejects %s without revealing the password', (_what, url, reason) => {
    let caught: unknown;
    try {
      parseConnectionUrl(url);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConnectionUrlError);
    const message = (caught as Error).message;
    expect(message).toMatch(reason);
    expect(message).not.toMatch(/Sup3r|S3cret/);
    expect(JSON.stringify(caught)).not.toMatch(/Sup3r|S3cret/);
  });
});

describe('poolOptions', () => {
  it('reads dates as UTC Date objects over a utf8mb4 session', () => {
    const opts = poolOptions('mysql+pymysql://glance:pw@10.0.0.5:3307/glance?charset=utf8', {
      connectionLimit: 4,
    });
    expect(opts).toMatchObject({
      host: '10.0.0.5',
      port: 3307,
      user: 'glance',
      password: 'pw',
      database: 'glance',
      timezone: 'Z',
      dateStrings: false,
      connectionLimit: 4,
    });
    expect(String(opts.charset)).toMatch(/^UTF8MB4_/);
  });

  it('connects through the socket, not TCP, when unix_socket is given', () => {
    const opts = poolOptions(
      'mysql+pymysql://glance:pw@localhost/glance?unix_socket=/run/mysqld/mysqld.sock',
    );
    expect(opts.socketPath).toBe('/run/mysqld/mysqld.sock');
    expect(opts.host).toBeUndefined();
  });
});

describe('createPool', () => {
  it('throws on a bad URL without the password in the message', () => {
    expect(() => createPool(`sqlite://glance:${SECRET}@h/glance`)).toThrow(ConnectionUrlError);
    expect(() => createPool(`sqlite://glance:${SECRET}@h/glance`)).not.toThrow(/Sup3r|S3cret/);
  });

  it('returns a pool without connecting yet', async () => {
    const pool = createPool('mysql+pymysql://glance:pw@127.0.0.1:1/glance');
    await pool.end();
  });
});
