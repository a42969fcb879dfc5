/*
 * Stripe.js stand-in for the local Stripe sandbox (openevent.sandboxes.stripe), served by the
 * sandbox at /v3 with __STRIPE_API_BASE__ replaced by its address. It implements the part of
 * Stripe.js v3 that the Open Event web app uses:
 *
 *   const stripe = Stripe(publishableKey);
 *   const elements = stripe.elements({ clientSecret, appearance });
 *   elements.create('payment').mount('#payment-element');   // a plain card form
 *   const { error } = await stripe.confirmPayment({ elements, confirmParams: { return_url } });
 *
 * confirmPayment posts the card to the sandbox's POST /v1/payment_intents/<id>/confirm with the
 * publishable key and the client secret, form-encoded as Stripe.js does, then sends the
 * browser to return_url (?payment_intent=...&redirect_status=succeeded) or resolves
 * { error } on a decline. Test cards: 4242 4242 4242 4242 pays, 4000 0000 0000 0002 declines.
 */
(function () {
  'use strict';
  var API_BASE = '__STRIPE_API_BASE__';

  function intentId(clientSecret) {
    return String(clientSecret || '').split('_secret_')[0];
  }

  function post(path, fields) {
    var body = new URLSearchParams();
    Object.keys(fields).forEach(function (name) {
      if (fields[name] !== undefined && fields[name] !== null) {
        body.append(name, String(fields[name]));
      }
    });
    return fetch(API_BASE + path, { method: 'POST', body: body })
      .then(function (resp) {
        return resp.json().then(function (json) {
          return { ok: resp.ok, json: json };
        });
      })
      .catch(function (err) {
        return { ok: false, json: { error: {
          type: 'api_connection_error', message: 'Could not reach Stripe: ' + err } } };
      });
  }

  function field(label, name, value, autocomplete) {
    var wrap = document.createElement('label');
    wrap.className = 'sandbox-stripe-field';
    wrap.style.display = 'block';
    wrap.style.marginBottom = '0.5em';
    var text = document.createElement('span');
    text.textContent = label;
    text.style.display = 'block';
    var input = document.createElement('input');
    input.name = name;
    input.value = value;
    input.setAttribute('autocomplete', autocomplete);
    input.setAttribute('aria-label', label);
    wrap.appendChild(text);
    wrap.appendChild(input);
    return { wrap: wrap, input: input };
  }

  function PaymentElement(elements, type) {
    this._elements = elements;
    this._type = type;
    this._node = null;
    this._inputs = {};
    this._handlers = {};
  }

  PaymentElement.prototype.mount = function (target) {
    var host = typeof target === 'string' ? document.querySelector(target) : target;
    if (!host) {
      throw new Error('Stripe sandbox: no element matches ' + target);
    }
    var form = document.createElement('div');
    form.className = 'sandbox-stripe-payment-element';
    form.setAttribute('data-stripe-sandbox', this._type);
    var note = document.createElement('p');
    note.textContent = 'Stripe sandbox card form (test mode)';
    note.style.fontSize = '0.85em';
    form.appendChild(note);
    var number = field('Card number', 'cardnumber', '4242 4242 4242 4242', 'cc-number');
    var expiry = field('Expiration', 'exp-date', '12 / 34', 'cc-exp');
    var cvc = field('CVC', 'cvc', '123', 'cc-csc');
    [number, expiry, cvc].forEach(function (f) { form.appendChild(f.wrap); });
    var error = document.createElement('div');
    error.className = 'sandbox-stripe-error';
    error.setAttribute('role', 'alert');
    form.appendChild(error);
    host.innerHTML = '';
    host.appendChild(form);
    this._node = form;
    this._inputs = { number: number.input, expiry: expiry.input, cvc: cvc.input, error: error };
    this._elements._mounted = this;
    this._emit('ready', { elementType: this._type });
    return this;
  };

  PaymentElement.prototype._card = function () {
    var parts = String(this._inputs.expiry.value || '').split('/');
    var year = (parts[1] || '').trim();
    return {
      number: this._inputs.number.value,
      exp_month: (parts[0] || '').trim(),
      exp_year: year.length === 2 ? '20' + year : year,
      cvc: this._inputs.cvc.value
    };
  };

  PaymentElement.prototype._showError = function (message) {
    if (this._inputs.error) {
      this._inputs.error.textContent = message || '';
    }
  };

  PaymentElement.prototype.on = function (name, handler) {
    (this._handlers[name] = this._handlers[name] || []).push(handler);
    return this;
  };
  PaymentElement.prototype._emit = function (name, payload) {
    (this._handlers[name] || []).forEach(function (h) { h(payload); });
  };
  PaymentElement.prototype.update = function () { return this; };
  PaymentElement.prototype.focus = function () {
    if (this._inputs.number) { this._inputs.number.focus(); }
  };
  PaymentElement.prototype.unmount = function () {
    if (this._node && this._node.parentNode) { this._node.parentNode.removeChild(this._node); }
    this._node = null;
  };
  PaymentElement.prototype.destroy = PaymentElement.prototype.unmount;

  function Elements(stripe, options) {
    options = options || {};
    this._stripe = stripe;
    this._clientSecret = options.clientSecret;
    this._appearance = options.appearance;
    this._mounted = null;
  }
  Elements.prototype.create = function (type) {
    if (type !== 'payment' && type !== 'card') {
      throw new Error('Stripe sandbox: element type ' + type + ' is not implemented');
    }
    return new PaymentElement(this, type);
  };
  Elements.prototype.getElement = function () { return this._mounted; };
  Elements.prototype.update = function () { return this; };
  Elements.prototype.fetchUpdates = function () { return Promise.resolve({}); };
  Elements.prototype.submit = function () { return Promise.resolve({}); };

  function StripeSandbox(key, options) {
    if (!(this instanceof StripeSandbox)) {
      return new StripeSandbox(key, options);
    }
    if (typeof key !== 'string' || key.indexOf('pk_') !== 0) {
      throw new Error('Stripe sandbox: a publishable key (pk_...) is required');
    }
    this._key = key;
    this._options = options || {};
  }

  StripeSandbox.prototype.elements = function (options) {
    return new Elements(this, options);
  };

  StripeSandbox.prototype.retrievePaymentIntent = function (clientSecret) {
    var url = API_BASE + '/v1/payment_intents/' + encodeURIComponent(intentId(clientSecret)) +
      '?key=' + encodeURIComponent(this._key) +
      '&client_secret=' + encodeURIComponent(clientSecret);
    return fetch(url).then(function (resp) { return resp.json(); }).then(function (json) {
      return json.error ? { error: json.error } : { paymentIntent: json };
    });
  };

  StripeSandbox.prototype.confirmPayment = function (params) {
    params = params || {};
    var elements = params.elements;
    var confirmParams = params.confirmParams || {};
    var redirect = params.redirect || 'always';
    if (!elements || !elements._clientSecret) {
      throw new Error('Stripe sandbox: confirmPayment needs the elements made with a clientSecret');
    }
    if (redirect !== 'if_required' && !confirmParams.return_url) {
      throw new Error('Stripe sandbox: confirmParams.return_url is required');
    }
    var element = elements._mounted;
    if (!element) {
      throw new Error('Stripe sandbox: mount the payment element before confirming');
    }
    var card = element._card();
    var clientSecret = elements._clientSecret;
    var id = intentId(clientSecret);
    element._showError('');
    return post('/v1/payment_intents/' + encodeURIComponent(id) + '/confirm', {
      key: this._key,
      client_secret: clientSecret,
      return_url: confirmParams.return_url,
      'payment_method_data[type]': 'card',
      'payment_method_data[card][number]': card.number,
      'payment_method_data[card][exp_month]': card.exp_month,
      'payment_method_data[card][exp_year]': card.exp_year,
      'payment_method_data[card][cvc]': card.cvc
    }).then(function (result) {
      if (!result.ok || result.json.error) {
        var error = result.json.error || { type: 'api_error', message: 'Payment failed' };
        element._showError(error.message);
        return { error: error };
      }
      var intent = result.json;
      if (redirect === 'if_required') {
        return { paymentIntent: intent };
      }
      var target = confirmParams.return_url;
      target += (target.indexOf('?') === -1 ? '?' : '&') +
        'payment_intent=' + encodeURIComponent(intent.id) +
        '&payment_intent_client_secret=' + encodeURIComponent(clientSecret) +
        '&redirect_status=' + encodeURIComponent(intent.status === 'succeeded' ? 'succeeded' : intent.status);
      window.location.assign(target);
      return new Promise(function () {});  // the page is leaving, as with Stripe.js
    });
  };

  StripeSandbox.prototype._registerWrapper = function () {};
  StripeSandbox.prototype.registerAppInfo = function () {};

  StripeSandbox.version = 3;
  StripeSandbox.sandbox = true;
  window.Stripe = StripeSandbox;
})();
